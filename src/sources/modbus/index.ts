/** The Modbus source's public surface: what the agent and `check-config` use. */
export { createModbusSources, ModbusSource } from './modbus-source.js';
export { planDevice, planRequests, minimumRequests, describeRequest } from './request-plan.js';
export type { ReadRequest, PlannedPoint, GroupPlan, PlanLimits, Forbidden } from './request-plan.js';
