/* A bundled dependency: built once, then only linked. */
int scale(int x)
{
	return x * 3;
}
