"""Reading rows: the SQL sandbox and the one door every read path goes through."""
