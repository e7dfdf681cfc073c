#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int compute(int x);
int scale(int x);
int both(int x);

/* Prints the results every 100 ms (or N times with an argument). */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : -1;
	for (int i = 0; n < 0 || i < n; i++) {
		printf("compute=%d scale=%d both=%d\n", compute(20), scale(20), both(20));
		fflush(stdout);
		if (n < 0 || i + 1 < n)
			usleep(100000);
	}
	return 0;
}
