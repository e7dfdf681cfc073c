int compute(int x);
int other(int x);
int scale(int x);
