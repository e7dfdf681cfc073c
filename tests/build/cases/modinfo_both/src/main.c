#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "calc.h"

/* Prints compute(N) once a second (or N times with an argument). */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : -1;
	for (int i = 0; n < 0 || i < n; i++) {
		printf("compute=%d other=%d\n", compute(20), other(20));
		fflush(stdout);
		if (n < 0 || i + 1 < n)
			usleep(100000);
	}
	return 0;
}
