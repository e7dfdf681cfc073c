/* SPDX-License-Identifier: MIT */
/* The patched data object: both initial values changed. */
int get_counter(void);
int get_limit(void);

int counter = 2;
const int limit = 20;

int get_counter(void)
{
	return counter;
}

int get_limit(void)
{
	return limit;
}
