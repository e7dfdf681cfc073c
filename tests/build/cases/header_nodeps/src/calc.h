#define FACTOR 2
int compute(int x);
int other(int x);
