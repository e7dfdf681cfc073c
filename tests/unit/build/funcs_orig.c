/* SPDX-License-Identifier: MIT */
/* The original object of the diff tests: each function is one case. */
int same_fn(int x);
int changed_fn(int x);
int tick(void);
const char *greet(void);

/* Unchanged in the patched object. */
int same_fn(int x)
{
	return x * 3 + 1;
}

/* Its body changes. */
int changed_fn(int x)
{
	return x * x + 7;
}

/* Unchanged, but the patched object adds a static local before its own,
 * so GCC numbers this one count.1 there instead of count.0. */
int tick(void)
{
	static int count;
	return ++count;
}

/* Unchanged, but the patched object adds a string literal before "hello",
 * so its label is .LC1 instead of .LC0 (and where literals share one
 * .rodata.str1.1, its offset there moves). */
const char *greet(void)
{
	return "hello";
}
