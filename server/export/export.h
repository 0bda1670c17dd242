/*
 * export.h - W3C Web Annotation export and meeting digests: the HTTP
 * endpoints of SPEC §2 and `scholia export`.
 */
#ifndef SCH_EXPORT_H
#define SCH_EXPORT_H

#include <stdint.h>
#include <stdio.h>

struct store;

/* Registers GET /api/circles/{id}/annotations and .../digest.md. */
void export_init(void);
/* scholia export --circle ID --format w3c|markdown: circle-visible
 * annotations to out. 0 or negative SCH_E* with err. */
int export_cli(struct store *db, int64_t circle, const char *format,
	       const char *public_url, FILE *out, char *err, size_t errlen);

#endif
