/* SPDX-License-Identifier: MIT */
/*
 * hog MIB : allocate MIB mebibytes of anonymous memory a page at a time,
 * touching every page, then exit 0. Run in a memory cgroup with a smaller
 * limit (and no swap), it is OOM-killed: the anonymous-memory pressure of
 * the v1 live test. Prints nothing; its exit status says what happened.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t done = 0; done < mib; done++) {
		char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 2;
		for (size_t o = 0; o < (1u << 20); o += page)
			p[o] = (char)o;
	}
	return 0;
}
