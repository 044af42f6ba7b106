#ifndef CMARIADB_SHIM_H
#define CMARIADB_SHIM_H
// MariaDB Connector/C (Debian's libmariadb-dev), which speaks to MySQL 5.7/8.x and MariaDB.
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#endif
