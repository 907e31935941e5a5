-- The migrations' session: their NOTICEs ("... does not exist, skipping"
-- of an IF EXISTS) are not news for whoever runs traffic-ctl migrate.
SET client_min_messages = warning
