SELECT pg_advisory_unlock(727384910)
