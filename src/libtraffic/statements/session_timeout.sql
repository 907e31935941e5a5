-- The statement timeout of a session whose pooler refused the "options"
-- startup parameter.  $1 milliseconds
SELECT set_config('statement_timeout', $1, false)
