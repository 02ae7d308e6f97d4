import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, READ_ERRORS } from '../../schemas/common.ts';
import { ItemConcepts, ItemParams, ProfileQuery } from '../../schemas/concepts.ts';
import { itemIndex } from '../../services/lookup.ts';
import { activeNeurons, itemCode } from '../../services/neurons.ts';

const items: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/items/:itemId/concepts',
    {
      schema: {
        operationId: 'getItemConcepts',
        tags: ['items'],
        summary: "An item's concepts: its tags and the active SAE neurons of its code with labels",
        params: ItemParams,
        querystring: ProfileQuery,
        response: { 200: ItemConcepts, ...errors(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { bundle, version } = app.models.require();
      const i = itemIndex(bundle, req.params.itemId);
      const profile = activeNeurons(bundle, itemCode(bundle, i), req.query.limit ?? 20, 'item');
      const { itemTitles, itemTags, itemYears } = bundle.dataset;
      return {
        itemId: req.params.itemId,
        title: itemTitles[i] ?? '',
        tags: itemTags[i] ?? [],
        year: itemYears[i] ? itemYears[i] : null,
        modelId: version.id,
        activeNeurons: profile.total,
        neurons: profile.neurons,
      };
    },
  );
};

export default items;
