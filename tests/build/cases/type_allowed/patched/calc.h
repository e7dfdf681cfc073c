/* A record kept across calls (live data): the patch enlarges its union. */
struct rec {
	int kind;
	union {
		int i;
		char small[16];
	} u;
};
int compute(int x);
int other(int x);
