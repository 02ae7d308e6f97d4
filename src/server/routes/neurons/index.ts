import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, READ_ERRORS } from '../../schemas/common.ts';
import {
  NeuronDetail,
  NeuronDetailQuery,
  NeuronList,
  NeuronListQuery,
  NeuronParams,
} from '../../schemas/neurons.ts';
import { neuronIndex } from '../../services/lookup.ts';
import { neuronDetail, neuronInfo, summarise } from '../../services/neurons.ts';

const neurons: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/neurons',
    {
      schema: {
        operationId: 'listNeurons',
        tags: ['neurons'],
        summary: 'SAE neurons with label, purity, activation density and dead flag',
        querystring: NeuronListQuery,
        response: { 200: NeuronList, ...errors(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { bundle, version } = app.models.require();
      const latents = bundle.sae.user.config.latents;
      const q = req.query;
      const label = q.label?.toLowerCase();
      const all = [];
      for (let j = 0; j < latents; j++) {
        const s = summarise(neuronInfo(bundle, j));
        if (q.kind !== undefined && s.kind !== q.kind) continue;
        if (q.dead !== undefined && s.dead !== q.dead) continue;
        if (label !== undefined && !s.label.toLowerCase().includes(label)) continue;
        all.push(s);
      }
      return {
        modelId: version.id,
        total: all.length,
        neurons: all.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? 100)),
      };
    },
  );

  app.get(
    '/v1/neurons/:neuron',
    {
      schema: {
        operationId: 'getNeuron',
        tags: ['neurons'],
        summary: 'One neuron: top items, top users, label evidence, the items whose score it raises most',
        params: NeuronParams,
        querystring: NeuronDetailQuery,
        response: { 200: NeuronDetail, ...errors(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { bundle, version } = app.models.require();
      const j = neuronIndex(bundle, req.params.neuron);
      return { ...neuronDetail(bundle, j, req.query.limit ?? 10), modelId: version.id };
    },
  );
};

export default neurons;
