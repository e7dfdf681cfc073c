int compute(int x);
int other(int x);
extern int scale; /* defined in main.c */
