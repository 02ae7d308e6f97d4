-- Policies saved before schema v2 have no model_id, and so would stay unbound (applying their neuron
-- indices to whatever SAE is active next). They were being served against the active version: bind them to it.
UPDATE policies SET model_id = (SELECT id FROM models WHERE is_active = 1) WHERE model_id IS NULL;
