import GRDB

/// The schema's history. Migrations are append-only: a released one is never edited, a change
/// is a new `vN-…` migration.
enum SchedulerMigrations {
    /// Every migration, in order.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-initial-schema") { db in
            try db.execute(sql: v1)
        }
        // When the job message of a scheduled run was confirmed by the broker; NULL until then,
        // so that a scheduler that died between committing a run and publishing its jobs
        // publishes them again when it starts.
        migrator.registerMigration("v2-dispatch-marks") { db in
            try db.execute(sql: "ALTER TABLE job_instances ADD COLUMN dispatched_at DATETIME")
        }
        // A user unlocked a pipeline whose `lockOnFailure` instance failed: the counter of the
        // instance that held the lock.
        migrator.registerMigration("v3-pipeline-unlocks") { db in
            try db.execute(sql: """
                CREATE TABLE pipeline_unlocks (
                    pipeline_name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
                    counter INTEGER NOT NULL
                )
                """)
        }
        // GoCD's pause: a paused pipeline starts no new instance until unpaused.
        migrator.registerMigration("v4-pipeline-pauses") { db in
            try db.execute(sql: """
                CREATE TABLE pipeline_pauses (
                    pipeline_name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
                    paused_by TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    paused_at DATETIME NOT NULL
                )
                """)
        }
        // Stage re-runs: a new stage run repeats an earlier one (GoCD's GO_RERUN_OF_STAGE_COUNTER),
        // and a job not selected to run again is copied from the stage run it really ran in.
        migrator.registerMigration("v5-stage-reruns") { db in
            try db.execute(sql: """
                ALTER TABLE stage_instances ADD COLUMN rerun_of_counter INTEGER;
                ALTER TABLE job_instances ADD COLUMN original_stage_counter INTEGER;
                """)
        }
        // Resources and environments an administrator set for an agent (GoCD's agent edit),
        // kept apart from what the agent reports (NULL: the agent's own).
        migrator.registerMigration("v6-agent-configuration") { db in
            try db.execute(sql: """
                ALTER TABLE agents ADD COLUMN configured_resources TEXT;
                ALTER TABLE agents ADD COLUMN configured_environments TEXT;
                """)
        }
        // Upstream triggers that found their downstream pipeline locked: kept until they run,
        // so that a scheduler restart does not drop them.
        migrator.registerMigration("v7-deferred-triggers") { db in
            try db.execute(sql: """
                CREATE TABLE deferred_triggers (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    pipeline_name TEXT NOT NULL COLLATE NOCASE,
                    cause TEXT NOT NULL,
                    revisions TEXT NOT NULL,
                    deferred_at DATETIME NOT NULL
                )
                """)
        }
        // Messages dead-lettered (`relevo.dead`) as the scheduler read them: what, where from, why,
        // and what it did about it, so that a dead job or event is never silent.
        migrator.registerMigration("v8-dead-letters") { db in
            try db.execute(sql: """
                CREATE TABLE dead_letters (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    received_at DATETIME NOT NULL,
                    kind TEXT NOT NULL,
                    original_queue TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    message_id TEXT,
                    outcome TEXT NOT NULL,
                    body TEXT NOT NULL
                )
                """)
        }
        // The attempts the scheduler gave up for each job run, and why (JSON; NULL: none).
        migrator.registerMigration("v9-abandoned-attempts") { db in
            try db.execute(sql: "ALTER TABLE job_instances ADD COLUMN abandoned_attempts TEXT")
        }
        // Agent identities: the credential that signs an agent's events (hex; NULL: none yet),
        // and the SHA-256 of the nonce a pending agent registered with (only that agent gets the
        // credential once approved).
        migrator.registerMigration("v10-agent-credentials") { db in
            try db.execute(sql: """
                ALTER TABLE agents ADD COLUMN credential TEXT;
                ALTER TABLE agents ADD COLUMN registration_nonce TEXT;
                """)
        }
        // Variables given when the run was triggered (GoCD's "trigger with options"): a JSON list
        // of {name, value, secure}; NULL: none.
        migrator.registerMigration("v11-trigger-variables") { db in
            try db.execute(sql: "ALTER TABLE pipeline_instances ADD COLUMN trigger_variables TEXT")
        }
        return migrator
    }

    private static let v1 = """
        CREATE TABLE pipeline_counters (
            pipeline_name TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
            last_counter INTEGER NOT NULL
        );
        CREATE TABLE pipeline_instances (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            pipeline_name TEXT NOT NULL COLLATE NOCASE,
            counter INTEGER NOT NULL,
            label TEXT NOT NULL,
            trigger_cause TEXT NOT NULL CHECK (trigger_cause IN ('manual', 'materialChange', 'upstream')),
            trigger_user TEXT,
            trigger_upstream TEXT,
            material_revisions TEXT NOT NULL,
            state TEXT NOT NULL,
            result TEXT,
            created_at DATETIME NOT NULL,
            completed_at DATETIME,
            UNIQUE (pipeline_name, counter)
        );
        CREATE TABLE stage_instances (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            pipeline_instance_id INTEGER NOT NULL REFERENCES pipeline_instances(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            counter INTEGER NOT NULL,
            approval_type TEXT NOT NULL CHECK (approval_type IN ('success', 'manual')),
            allow_only_on_success BOOLEAN NOT NULL,
            approved_by TEXT,
            approved_at DATETIME,
            job_plan TEXT NOT NULL,
            activation TEXT NOT NULL,
            state TEXT NOT NULL,
            result TEXT,
            created_at DATETIME NOT NULL,
            completed_at DATETIME,
            UNIQUE (pipeline_instance_id, name, counter)
        );
        CREATE TABLE job_instances (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stage_instance_id INTEGER NOT NULL REFERENCES stage_instances(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            run_index INTEGER NOT NULL,
            run_count INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('scheduled', 'assigned', 'building', 'completed')),
            result TEXT NOT NULL CHECK (result IN ('unknown', 'passed', 'failed', 'cancelled')),
            agent_id TEXT,
            attempt INTEGER NOT NULL CHECK (attempt >= 1),
            scheduled_at DATETIME NOT NULL,
            assigned_at DATETIME,
            started_at DATETIME,
            completed_at DATETIME,
            UNIQUE (stage_instance_id, name, run_index)
        );
        CREATE INDEX job_instances_in_flight ON job_instances(state) WHERE state <> 'completed';
        CREATE TABLE transitions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            pipeline_instance_id INTEGER NOT NULL REFERENCES pipeline_instances(id) ON DELETE CASCADE,
            event TEXT NOT NULL,
            at DATETIME NOT NULL
        );
        CREATE INDEX transitions_by_instance ON transitions(pipeline_instance_id, id);
        CREATE TABLE agents (
            uuid TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            resources TEXT NOT NULL,
            environments TEXT NOT NULL,
            state TEXT NOT NULL,
            last_heartbeat_at DATETIME,
            current_job TEXT
        );
        CREATE TABLE console_chunks (
            job_instance_id INTEGER NOT NULL REFERENCES job_instances(id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            text TEXT NOT NULL,
            UNIQUE (job_instance_id, attempt, sequence)
        );
        """
}
