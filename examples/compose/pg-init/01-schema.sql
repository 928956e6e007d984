-- Runs once, when the pg-db volume is first created (docker-entrypoint-initdb.d).
CREATE TABLE lists (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now(),
  name text NOT NULL,
  owner_id text NOT NULL -- a token's `sub` (`user_id` in pskeys serve's token endpoint)
);

INSERT INTO lists (name, owner_id) VALUES
  ('Groceries', 'user-1'),
  ('Chores', 'user-1'),
  ('Reading', 'user-2');

-- The PowerSync Service replicates the tables of the publication named `powersync`.
CREATE PUBLICATION powersync FOR TABLE lists;
