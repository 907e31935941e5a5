/*
 * idset.c: the sorted id set.
 */
#include <stdlib.h>

#include "base/idset.h"

int
tr_idset_add(struct tr_idset *s, int64_t id)
{
    int64_t *v;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        if ((v = realloc(s->v, s->cap * sizeof(*v))) == NULL)
            return -1;
        s->v = v;
    }
    s->v[s->n++] = id;
    return 0;
}

static int
cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

void
tr_idset_sort(struct tr_idset *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(s->v[0]), cmp_id);
}

int
tr_idset_has(const struct tr_idset *s, int64_t id)
{
    return s->n > 0 &&
           bsearch(&id, s->v, s->n, sizeof(s->v[0]), cmp_id) != NULL;
}

void
tr_idset_release(struct tr_idset *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
