/*
 * err.h - the project-wide error codes: one enumeration, no two names with
 * the same value.
 *
 * Functions return int: 0 on success, a negative SCH_E* value on failure.
 * A method handler returns RPC_ERR (= SCH_ERECORDED) after rpc_fail*()
 * recorded the JSON-RPC error in its call, or RPC_DEFERRED
 * (= SCH_EDEFERRED) after rpc_defer(). The JSON-RPC codes a client sees
 * (RPC_E_*, SPEC §3) are members of the same enumeration, far from the
 * others (-32xxx), so a domain handler can return RPC_E_FORBIDDEN directly.
 */
#ifndef SCH_ERR_H
#define SCH_ERR_H

enum sch_err {
	SCH_OK = 0,
	SCH_ENOMEM = -1, /* allocation failed (most paths abort instead) */
	SCH_EIO = -2,	 /* file or socket I/O failed */
	SCH_EDB = -3,	 /* the database refused or failed */
	SCH_EINVAL = -4, /* bad input */
	SCH_ENOTFOUND = -5,
	SCH_ECONFLICT = -6,
	SCH_EBUSY = -7,	     /* database locked past the busy timeout */
	SCH_EFULL = -8,	     /* queue or disk full */
	SCH_ETOONEW = -9,    /* database migrated by a newer scholia */
	SCH_ECORRUPT = -10,  /* database file is not a usable database */
	SCH_ERECORDED = -11, /* the error is recorded in the call: RPC_ERR */
	SCH_EDEFERRED = -12, /* no error: the reply comes later: RPC_DEFERRED */

	/* JSON-RPC error codes (standard, then SPEC §3) */
	RPC_E_PARSE = -32700,
	RPC_E_INVALID_REQUEST = -32600,
	RPC_E_METHOD_NOT_FOUND = -32601,
	RPC_E_INVALID_PARAMS = -32602,
	RPC_E_INTERNAL = -32603,
	RPC_E_UNAUTHENTICATED = -32001,
	RPC_E_FORBIDDEN = -32003,
	RPC_E_NOT_FOUND = -32004,
	RPC_E_CONFLICT = -32009,
	RPC_E_LOCKED = -32010,
	RPC_E_TOO_LARGE = -32013,
	RPC_E_RATE_LIMITED = -32029
};

#endif
