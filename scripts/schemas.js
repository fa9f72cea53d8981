#!/usr/bin/env node
// Writes the JSON Schemas of the public documents into schemas/ (run after the build: `npm run schemas`).
import { writeFileSync } from 'node:fs';

const { jsonSchemas, schemaText } = await import('../dist/apps/cli/src/schemas.js');
for (const [name, schema] of Object.entries(jsonSchemas())) {
  const file = new URL(`../schemas/${name}`, import.meta.url);
  writeFileSync(file, schemaText(schema));
  console.log(`wrote schemas/${name}`);
}
