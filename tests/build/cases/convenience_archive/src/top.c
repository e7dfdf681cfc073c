int scale(int x);
int compute(int x);

int both(int x)
{
	return scale(x) + compute(x);
}
