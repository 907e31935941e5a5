-- Today in the team's time zone $1, as YYYY-MM-DD.
SELECT to_char(now() AT TIME ZONE $1, 'YYYY-MM-DD') AS day
