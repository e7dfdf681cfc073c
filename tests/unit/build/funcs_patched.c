/* SPDX-License-Identifier: MIT */
/* The patched object of the diff tests (see funcs_orig.c). */
int same_fn(int x);
int changed_fn(int x);
int bump(void);
int tick(void);
const char *bye(void);
const char *greet(void);

int same_fn(int x)
{
	return x * 3 + 1;
}

int changed_fn(int x)
{
	return x * x + 9;
}

/* New, with a static local of its own that takes the number 0. */
int bump(void)
{
	static int count;
	return count += 2;
}

int tick(void)
{
	static int count;
	return ++count;
}

/* New, with a literal placed before "hello". */
const char *bye(void)
{
	return "goodbye";
}

const char *greet(void)
{
	return "hello";
}
