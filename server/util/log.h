/*
 * log.h - one line per event on stderr.
 *
 * Lines look like "2026-11-26T20:51:56Z info store: migrated to 3". Never
 * pass a password or a token to these functions: the callers are responsible
 * for keeping secrets out of logs (tests grep the log for them).
 */
#ifndef SCH_LOG_H
#define SCH_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below this level are dropped; default LOG_INFO. */
void log_set_level(enum log_level level);

/* Writes one line: timestamp, level, "module: " and the formatted message. */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)

/* Prints the message and aborts: used when allocation fails. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
