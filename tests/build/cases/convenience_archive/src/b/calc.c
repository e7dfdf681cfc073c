int compute(int x)
{
	return x * 2 + 1;
}
