/*
 * idset.h: a set of 64-bit ids, added to in any order, then sorted once
 * and asked by binary search.
 */
#ifndef TR_IDSET_H
#define TR_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct tr_idset {
    int64_t *v; /* owned */
    size_t n, cap;
};

/* Adds id (a zeroed set is empty); -1 without memory. */
int tr_idset_add(struct tr_idset *s, int64_t id);

/* Sorts the set: tr_idset_has may be asked from now on. */
void tr_idset_sort(struct tr_idset *s);

/* Whether id is in the sorted set. */
int tr_idset_has(const struct tr_idset *s, int64_t id);

/* Frees what s owns and empties it. */
void tr_idset_release(struct tr_idset *s);

#endif
