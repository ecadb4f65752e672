/* SPDX-License-Identifier: MIT */
/*
 * grow RATE [MIB] : allocate anonymous memory at RATE MiB a second, in
 * twenty steps a second, touching every page, up to MIB MiB (default: no
 * end), then sleep until killed. Run in a memory cgroup with a smaller
 * limit and no swap, it is OOM-killed after a steady approach: the
 * forecast live test's leak. Prints nothing; its exit status says what
 * happened (killed by SIGKILL: the OOM killer).
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	double rate = argc > 1 ? strtod(argv[1], NULL) : 8;
	double max = argc > 2 ? strtod(argv[2], NULL) : 1e12;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t step = (size_t)(rate * 1024 * 1024 / 20);
	if (rate <= 0 || step < page)
		return 2;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (double done = 0; done < max * 1024 * 1024; done += (double)step) {
		char *p = mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 3;
		for (size_t o = 0; o < step; o += page)
			p[o] = 1;
		next.tv_nsec += 50000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	for (;;)
		pause();
}
