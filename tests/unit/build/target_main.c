/* SPDX-License-Identifier: MIT */
/* The "running binary" of the select test: funcs_orig.c linked with this. */
#include <stdio.h>

int same_fn(int x);
int changed_fn(int x);
int tick(void);
const char *greet(void);

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d %d %d %s\n", same_fn(argc), changed_fn(argc), tick(), greet());
	return 0;
}
