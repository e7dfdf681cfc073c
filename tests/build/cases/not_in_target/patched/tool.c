/* A second program of the same tree: the patch touches it too. */
#include <stdio.h>

__attribute__((noipa)) int tool_version(void)
{
	return printf("tool 2\n");
}

int main(void)
{
	return tool_version() < 0;
}
