-- Prism schema v2: the model version a policy was last saved against. A policy that names a neuron by
-- index means that version's neuron; on another version the index is a different feature, so the service
-- sets such a policy aside (applicable: false) until it is saved again. NULL for rows saved before v2.
ALTER TABLE policies ADD COLUMN model_id INTEGER;
