/** Which generator serves which built-in scenario. */
import type { CatalogId } from './ids.js';
import type { ScenarioGenerator } from './model.js';
import {
  drainageRainfallResponse,
  evChargingDemand,
  evGridLoadCoupling,
  householdTariffAudit,
  microgridRenewableBalance,
  waterDistrictConsumption,
  waterLeakScreening,
} from './rows/water-energy.js';
import {
  childcareCapacityGap,
  chronicElderlyCareDemand,
  diseaseIncidenceByAge,
  insuranceCostRatio,
  parkCarbonAccounting,
  strokeLengthOfStay,
  wasteFreeCityRecycling,
} from './rows/green-health.js';
import {
  graduateJobMatch,
  housingAffordability,
  parkingOccupancy,
  salaryBenchmark,
  schoolTeacherRatio,
  tourismSpendPerVisitor,
  transitOdFlows,
} from './rows/society.js';
import {
  cropYieldEstimate,
  energyIntensityBySector,
  industrialCapacityUtilization,
  invoiceDoubleFinancing,
  retailConsumptionIndex,
  smeCreditScore,
} from './rows/economy.js';
import {
  droneInspectionFindings,
  emergencyResponseCoverage,
  fisheryCatchVsTemperature,
  landParcelValuation,
  serviceHallWaitTimes,
} from './rows/city.js';

export const GENERATORS: Readonly<Record<CatalogId, ScenarioGenerator>> = {
  'water-district-consumption': waterDistrictConsumption,
  'water-leak-screening': waterLeakScreening,
  'drainage-rainfall-response': drainageRainfallResponse,
  'ev-charging-demand': evChargingDemand,
  'ev-grid-load-coupling': evGridLoadCoupling,
  'microgrid-renewable-balance': microgridRenewableBalance,
  'household-tariff-audit': householdTariffAudit,
  'park-carbon-accounting': parkCarbonAccounting,
  'waste-free-city-recycling': wasteFreeCityRecycling,
  'stroke-length-of-stay': strokeLengthOfStay,
  'disease-incidence-by-age': diseaseIncidenceByAge,
  'chronic-elderly-care-demand': chronicElderlyCareDemand,
  'insurance-cost-ratio': insuranceCostRatio,
  'childcare-capacity-gap': childcareCapacityGap,
  'salary-benchmark': salaryBenchmark,
  'graduate-job-match': graduateJobMatch,
  'school-teacher-ratio': schoolTeacherRatio,
  'housing-affordability': housingAffordability,
  'transit-od-flows': transitOdFlows,
  'tourism-spend-per-visitor': tourismSpendPerVisitor,
  'parking-occupancy': parkingOccupancy,
  'sme-credit-score': smeCreditScore,
  'invoice-double-financing': invoiceDoubleFinancing,
  'retail-consumption-index': retailConsumptionIndex,
  'industrial-capacity-utilization': industrialCapacityUtilization,
  'energy-intensity-by-sector': energyIntensityBySector,
  'crop-yield-estimate': cropYieldEstimate,
  'service-hall-wait-times': serviceHallWaitTimes,
  'drone-inspection-findings': droneInspectionFindings,
  'fishery-catch-vs-temperature': fisheryCatchVsTemperature,
  'emergency-response-coverage': emergencyResponseCoverage,
  'land-parcel-valuation': landParcelValuation,
  // #33 is #1 with noise: the same meters.
  'smart-meter-differential-privacy': waterDistrictConsumption,
};
