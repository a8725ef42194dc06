/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cowtree platform shim, user-space side.
 *
 * Provides the kernel names that core/ uses (the same set as
 * drivers/md/dm-cowtree/cow-platform.h) on top of libc, pthreads and isa-l,
 * so the core compiles unchanged in tools and tests.
 */
#ifndef COW_PLATFORM_H
#define COW_PLATFORM_H

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>	/* strcasecmp */
#include <sys/types.h>

#include <linux/types.h>	/* __u64 and __le64 as the kernel spells them */

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "only little-endian hosts are supported by the user-space shim"
#endif

#define cpu_to_le16(x) ((__le16)(u16)(x))
#define cpu_to_le32(x) ((__le32)(u32)(x))
#define cpu_to_le64(x) ((__le64)(u64)(x))
#define le16_to_cpu(x) ((u16)(x))
#define le32_to_cpu(x) ((u32)(x))
#define le64_to_cpu(x) ((u64)(x))

static inline void le32_add_cpu(__le32 *var, u32 val)
{
	*var = cpu_to_le32(le32_to_cpu(*var) + val);
}

static inline void le64_add_cpu(__le64 *var, u64 val)
{
	*var = cpu_to_le64(le64_to_cpu(*var) + val);
}

#ifndef EWOULDBLOCK
#define EWOULDBLOCK EAGAIN
#endif

#define __packed __attribute__((packed))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __always_unused __attribute__((unused))
#define __maybe_unused __attribute__((unused))
#define __must_check __attribute__((warn_unused_result))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define fallthrough __attribute__((fallthrough))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define U8_MAX ((u8)~0U)
#define U16_MAX ((u16)~0U)
#define U32_MAX ((u32)~0U)
#define U64_MAX ((u64)~0ULL)

#define BUILD_BUG_ON(cond) _Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define min(a, b) ({ __typeof__(a) a_ = (a); __typeof__(b) b_ = (b); \
		     a_ < b_ ? a_ : b_; })
#define max(a, b) ({ __typeof__(a) a_ = (a); __typeof__(b) b_ = (b); \
		     a_ > b_ ? a_ : b_; })
#define min_t(t, a, b) ({ t a_ = (a); t b_ = (b); a_ < b_ ? a_ : b_; })
#define max_t(t, a, b) ({ t a_ = (a); t b_ = (b); a_ > b_ ? a_ : b_; })
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define round_up(x, y) ((((x) - 1) | ((__typeof__(x))((y) - 1))) + 1)
#define round_down(x, y) ((x) & ~((__typeof__(x))((y) - 1)))

static inline u64 div_u64(u64 dividend, u32 divisor)
{
	return dividend / divisor;
}

static inline u64 div_u64_rem(u64 dividend, u32 divisor, u32 *remainder)
{
	*remainder = dividend % divisor;
	return dividend / divisor;
}

/*----------------------------------------------------------------*/
/* Memory */

typedef unsigned int gfp_t;
#define GFP_KERNEL 0u
#define GFP_NOIO 0u
#define GFP_NOFS 0u
#define __GFP_ZERO 1u

static inline void *kmalloc(size_t size, gfp_t gfp)
{
	return (gfp & __GFP_ZERO) ? calloc(1, size ? size : 1) :
				    malloc(size ? size : 1);
}

static inline void *kzalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(1, size ? size : 1);
}

static inline void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return kmalloc(n * size, gfp);
}

static inline void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(n ? n : 1, size ? size : 1);
}

static inline void kfree(const void *p)
{
	free((void *)p);
}

#define kvmalloc kmalloc
#define kvzalloc kzalloc
#define kvcalloc kcalloc
#define kvmalloc_array kmalloc_array
#define kvfree kfree

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/*----------------------------------------------------------------*/
/* Strings */

/* Kernel strscpy(): returns the length copied or -E2BIG if truncated. */
ssize_t strscpy(char *dst, const char *src, size_t count);

/*
 * The kernel's kstrtoull()/kstrtouint(), same rules: an optional '+',
 * digits of @base (0: 0x... hex, 0... octal, else decimal; 16 accepts a
 * 0x prefix), an optional final newline, nothing else; -ERANGE on
 * overflow, -EINVAL otherwise; *res untouched on failure.
 */
int kstrtoull(const char *s, unsigned int base, unsigned long long *res);
int kstrtouint(const char *s, unsigned int base, unsigned int *res);

/*----------------------------------------------------------------*/
/* crc32c with kernel semantics: no pre- or post-inversion. */

u32 crc32c(u32 seed, const void *p, unsigned int len);

/*----------------------------------------------------------------*/
/* Locks */

struct rw_semaphore {
	pthread_rwlock_t lock;
};

static inline void init_rwsem(struct rw_semaphore *s)
{
	pthread_rwlock_init(&s->lock, NULL);
}

static inline void down_read(struct rw_semaphore *s)
{
	pthread_rwlock_rdlock(&s->lock);
}

static inline int down_read_trylock(struct rw_semaphore *s)
{
	return pthread_rwlock_tryrdlock(&s->lock) == 0;
}

static inline void up_read(struct rw_semaphore *s)
{
	pthread_rwlock_unlock(&s->lock);
}

static inline void down_write(struct rw_semaphore *s)
{
	pthread_rwlock_wrlock(&s->lock);
}

static inline int down_write_trylock(struct rw_semaphore *s)
{
	return pthread_rwlock_trywrlock(&s->lock) == 0;
}

static inline void up_write(struct rw_semaphore *s)
{
	pthread_rwlock_unlock(&s->lock);
}

/* Spinlocks (short critical sections in the core): a mutex here. */
typedef struct {
	pthread_mutex_t lock;
} spinlock_t;

static inline void spin_lock_init(spinlock_t *s)
{
	pthread_mutex_init(&s->lock, NULL);
}

static inline void spin_lock(spinlock_t *s)
{
	pthread_mutex_lock(&s->lock);
}

static inline void spin_unlock(spinlock_t *s)
{
	pthread_mutex_unlock(&s->lock);
}

/*----------------------------------------------------------------*/
/* Logging, time, randomness, sorting */

/* Set to true to silence cow_err/cow_warn/cow_info (tests). */
extern bool cow_log_quiet;
/* Number of cow_err() calls so far (tests check that errors were logged). */
extern unsigned long cow_log_errors;

__printf(2, 3) void cow_log(const char *level, const char *fmt, ...);

#define cow_err(fmt, ...) \
	do { cow_log_errors++; cow_log("error", fmt, ##__VA_ARGS__); } while (0)
#define cow_warn(fmt, ...) cow_log("warning", fmt, ##__VA_ARGS__)
#define cow_info(fmt, ...) cow_log("info", fmt, ##__VA_ARGS__)
#define cow_err_ratelimited cow_err

u64 cow_now_seconds(void);
void cow_random_bytes(void *buf, size_t len);

void sort(void *base, size_t num, size_t size,
	  int (*cmp)(const void *, const void *),
	  void (*swap)(void *, void *, int size));

#endif
