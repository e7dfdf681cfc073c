static int factor = 10;

__attribute__((noinline)) static int helper(int x)
{
	return x * factor;
}

int scale(int x)
{
	return helper(x);
}
