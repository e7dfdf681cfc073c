CFLAGS ?= -O2 -g
prog: main.o calc.o
	$(CC) $(CFLAGS) -o $@ main.o calc.o
%.o: %.c calc.h
	$(CC) $(CFLAGS) -c $<
