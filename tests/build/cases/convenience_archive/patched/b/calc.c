/* helper() has a namesake in a/calc.c, a unit of the same file name: the
 * payload's reference to it must resolve to this one. */
__attribute__((noinline)) static int helper(int x)
{
	return x + 1;
}

__attribute__((noinline)) static int twice(int x)
{
	return x * 2;
}

int compute(int x)
{
	return helper(twice(x) + x);
}
