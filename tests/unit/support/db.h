/*
 * db.h - a fresh test database: every unit test that touches the store
 * starts from the real migrations on a new temporary file.
 */
#ifndef SCH_TEST_DB_H
#define SCH_TEST_DB_H

#include <stddef.h>

struct store;

/* A fresh database at a new temporary path (written into path) with the
 * real migrations applied; tag names the test in the file name. Fails the
 * test on error. */
struct store *fixture_open_db(char *path, size_t pathlen, const char *tag);
/* Closes db and removes its file, WAL and shared-memory file. */
void fixture_close_db(struct store *db, const char *path);

#endif
