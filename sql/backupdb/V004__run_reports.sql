-- dvbackup backup database, migration 4: the morning report, stored with its run.
--
-- The report is kept even when it could not be mailed (`dvbackup report --send` retries),
-- and a run that could not start (lock held, target unusable) leaves a row with state
-- 'not-started' when the database could be reached.
ALTER TABLE dvbackup_run
    ADD COLUMN IF NOT EXISTS exit_code integer,          -- the run's exit code (0, 1, 3)
    ADD COLUMN IF NOT EXISTS report_subject text,        -- the mail's subject
    ADD COLUMN IF NOT EXISTS report text,                -- the mail's text, as sent
    ADD COLUMN IF NOT EXISTS report_csv text,            -- the full failure list, when the text is cut
    ADD COLUMN IF NOT EXISTS mail_status text,           -- sent | failed | not-sent
    ADD COLUMN IF NOT EXISTS mail_error text,            -- why the last attempt failed, or why none was made
    ADD COLUMN IF NOT EXISTS mail_recipients text,       -- comma-separated
    ADD COLUMN IF NOT EXISTS mailed_at timestamp with time zone;  -- when the server accepted it
