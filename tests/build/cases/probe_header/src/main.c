#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

const char *line(void);

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : -1;
	for (int i = 0; n < 0 || i < n; i++) {
		printf("%s\n", line());
		fflush(stdout);
		if (n < 0 || i + 1 < n)
			usleep(100000);
	}
	return 0;
}
