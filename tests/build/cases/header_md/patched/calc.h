#define FACTOR 3
int compute(int x);
int other(int x);
