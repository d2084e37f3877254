/**
 * GET /explanations/{opaqueId}: the full explanation of one prediction, linked from its card.
 * The id is random and expires (RISKCARDS_EXPLANATION_TTL_SEC); no PHI is in the URL.
 */
import { Router } from 'express';
import { notFound } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { renderExplanationPage, type StoredExplanation } from '../cards/explanation-page.ts';

const OPAQUE_ID = /^[A-Za-z0-9_-]{16,64}$/;

export function explanationRoutes(store: Store): Router {
  const router = Router();
  router.get('/explanations/:id', async (req, res) => {
    const id = String(req.params.id);
    const payload = OPAQUE_ID.test(id) ? await store.loadExplanation(id) : null;
    if (!payload) throw notFound('This explanation does not exist or has expired.', 'id');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.type('html').send(renderExplanationPage(payload as StoredExplanation));
  });
  return router;
}
