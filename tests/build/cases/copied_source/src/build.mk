CFLAGS ?= -O2 -g
prog: work/main.o work/calc.o
	$(CC) $(CFLAGS) -o $@ work/main.o work/calc.o
work/%.o: work/%.c work/calc.h
	$(CC) $(CFLAGS) -c -o $@ $<
