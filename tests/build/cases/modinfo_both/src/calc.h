int compute(int x);
int other(int x);
