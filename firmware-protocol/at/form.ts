/** The four command forms: `AT+X=?` test, `AT+X?` query, `AT+X=<…>` set, `AT+X` execute. */
export type AtForm = 'test' | 'query' | 'set' | 'execute';
