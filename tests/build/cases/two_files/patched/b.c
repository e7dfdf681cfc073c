extern volatile int input;

__attribute__((noipa)) int from_b(int x)
{
	return input + x + 22;
}
