/* SPDX-License-Identifier: MIT */
/* A library the transition target dlopens and dlcloses in a loop (case 10):
 * each round adds it to and removes it from the link map. */
int dl_churn_value(void)
{
	return 42;
}
