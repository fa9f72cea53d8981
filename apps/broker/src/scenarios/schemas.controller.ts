import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { datasetJsonSchema } from '#dataset';
import { Public } from '#platform';
import { scenarioJsonSchema } from '#scenario';

/** The JSON Schemas of the public documents, as committed under `schemas/` (for editors and scripts). */
@ApiTags('schemas')
@Controller('schemas')
export class SchemasController {
  @Public()
  @Get('scenario.schema.json')
  @ApiOperation({ summary: 'JSON Schema of the scenario document (docs/scenario-format.md)' })
  scenario(): unknown {
    return scenarioJsonSchema;
  }

  @Public()
  @Get('dataset.schema.json')
  @ApiOperation({ summary: 'JSON Schema of the dataset document (docs/datasets-and-policies.md)' })
  dataset(): unknown {
    return datasetJsonSchema;
  }
}
