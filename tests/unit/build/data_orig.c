/* SPDX-License-Identifier: MIT */
/* Data cases of the diff tests: initialised data whose value changes. */
int get_counter(void);
int get_limit(void);

int counter = 1;
const int limit = 10;

int get_counter(void)
{
	return counter;
}

int get_limit(void)
{
	return limit;
}
