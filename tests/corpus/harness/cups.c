/* placeholder until the reproducer is written */
static void repro(const char *mode);
