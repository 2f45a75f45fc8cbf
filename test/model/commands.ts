// The steps of a sequence: each picks its caller, target and input, asks the model what should happen,
// sends the request, compares, applies the effect to the model, then lets World compare the state.
import type fc from 'fast-check';
import type { KeyState, RulesModel } from './model.ts';
import { type CallerPick, type GrantsPick, grantsInput, pickCaller, pickTarget, type TargetPick } from './picks.ts';
import {
  type ApiKeyJson,
  CREATE,
  CURRENT,
  DELETE,
  LIST,
  labelled,
  MINUTE,
  ROTATE,
  SHOW,
  sorted,
  UPDATE,
  type World,
} from './world.ts';

export type Cmd = fc.AsyncCommand<RulesModel, World>;

export abstract class Step implements Cmd {
  check(): boolean {
    return true;
  }
  abstract run(model: RulesModel, world: World): Promise<void>;
  abstract toString(): string;
}

export class CreateStep extends Step {
  constructor(
    readonly caller: CallerPick,
    readonly name: unknown,
    readonly grants: GrantsPick,
  ) {
    super();
  }

  async run(model: RulesModel, world: World) {
    const caller = pickCaller(model, this.caller);
    const input = { name: this.name, ...grantsInput(model, world, caller, undefined, this.grants) };
    world.trail.push(`${caller.label}: createApiKey ${JSON.stringify(input)}`);
    const decision = model.decideCreate(caller.token, input);
    const response = await world.gql<{ createApiKey: { token: string; apiKey: ApiKeyJson } }>(caller.token, CREATE, {
      input,
    });
    world.expectOutcome('create', decision, response);
    let created: KeyState | undefined;
    if (decision.outcome === 'ok' && response.data && decision.caller && decision.grants) {
      const { apiKey, token } = response.data.createApiKey;
      created = model.addKey(
        {
          id: apiKey.id,
          orgId: decision.caller.orgId,
          name: decision.name as string,
          grants: decision.grants,
          creator: { kind: 'key', id: decision.caller.id, name: decision.caller.name },
          observer: false,
          label: `created#${model.keys.size}`,
        },
        token,
      );
      world.expectKey('createApiKey payload', created, apiKey);
    }
    await world.afterStep(model, caller, [created]);
  }

  toString() {
    return `create(${JSON.stringify(this.caller)}, ${JSON.stringify(this.name)}, ${JSON.stringify(this.grants)})`;
  }
}

export class UpdateStep extends Step {
  constructor(
    readonly caller: CallerPick,
    readonly target: TargetPick,
    readonly name: unknown,
    readonly grants: GrantsPick,
    readonly idMissing: boolean,
  ) {
    super();
  }

  async run(model: RulesModel, world: World) {
    const caller = pickCaller(model, this.caller);
    const target = pickTarget(model, world, caller, this.target);
    const targetKey = model.keys.get(target.id);
    const input = {
      ...(this.idMissing ? {} : { id: target.id }),
      name: this.name,
      ...grantsInput(model, world, caller, targetKey, this.grants),
    };
    world.trail.push(`${caller.label}: updateApiKey of ${target.label} ${JSON.stringify(input)}`);
    const decision = model.decideUpdate(caller.token, input);
    const response = await world.gql<{ updateApiKey: { apiKey: ApiKeyJson } }>(caller.token, UPDATE, { input });
    world.expectOutcome('update', decision, response);
    if (decision.outcome === 'ok' && response.data && decision.target && decision.grants) {
      model.applyUpdate(decision.target, decision.name as string, decision.grants);
      world.expectKey('updateApiKey payload', decision.target, response.data.updateApiKey.apiKey);
    }
    await world.afterStep(model, caller, [targetKey, caller.key ?? undefined]);
  }

  toString() {
    return `update(${JSON.stringify([this.caller, this.target, this.name, this.grants, this.idMissing])})`;
  }
}

export class RotateStep extends Step {
  constructor(
    readonly caller: CallerPick,
    readonly target: TargetPick,
    readonly grace: unknown,
  ) {
    super();
  }

  async run(model: RulesModel, world: World) {
    const caller = pickCaller(model, this.caller);
    const target = pickTarget(model, world, caller, this.target);
    const input = this.grace === undefined ? { id: target.id } : { id: target.id, gracePeriodMinutes: this.grace };
    world.trail.push(`${caller.label}: rotateApiKey of ${target.label} ${JSON.stringify(input)}`);
    const decision = model.decideRotate(caller.token, input.id, this.grace);
    const response = await world.gql<{
      rotateApiKey: { token: string; previousTokenExpiresAt: string; apiKey: ApiKeyJson };
    }>(caller.token, ROTATE, { input });
    world.expectOutcome('rotate', decision, response);
    if (decision.outcome === 'ok' && response.data && decision.target) {
      const grace = decision.gracePeriodMinutes as number;
      const payload = response.data.rotateApiKey;
      model.applyRotate(decision.target, payload.token, grace);
      world.expectKey('rotateApiKey payload', decision.target, payload.apiKey);
      const expiry = world.at(model.now + grace);
      if (payload.previousTokenExpiresAt !== expiry) {
        world.fail('previousTokenExpiresAt', expiry, payload.previousTokenExpiresAt);
      }
    }
    await world.afterStep(model, caller, [model.keys.get(target.id), caller.key ?? undefined]);
  }

  toString() {
    return `rotate(${JSON.stringify([this.caller, this.target, this.grace])})`;
  }
}

export class DeleteStep extends Step {
  constructor(
    readonly caller: CallerPick,
    readonly target: TargetPick,
  ) {
    super();
  }

  async run(model: RulesModel, world: World) {
    const caller = pickCaller(model, this.caller);
    const target = pickTarget(model, world, caller, this.target);
    world.trail.push(`${caller.label}: deleteApiKey of ${target.label}`);
    const decision = model.decideDelete(caller.token, target.id);
    const response = await world.gql<{ deleteApiKey: { deletedApiKeyId: string } }>(caller.token, DELETE, {
      input: { id: target.id },
    });
    world.expectOutcome('delete', decision, response);
    if (decision.outcome === 'ok' && response.data && decision.target) {
      model.applyDelete(decision.target);
      if (response.data.deleteApiKey.deletedApiKeyId !== target.id) {
        world.fail('deletedApiKeyId', target.id, response.data.deleteApiKey.deletedApiKeyId);
      }
    }
    await world.afterStep(model, caller, [model.keys.get(target.id), caller.key ?? undefined]);
  }

  toString() {
    return `delete(${JSON.stringify([this.caller, this.target])})`;
  }
}

export class ShowStep extends Step {
  constructor(
    readonly caller: CallerPick,
    readonly target: TargetPick,
  ) {
    super();
  }

  async run(model: RulesModel, world: World) {
    const caller = pickCaller(model, this.caller);
    const target = pickTarget(model, world, caller, this.target);
    world.trail.push(`${caller.label}: apiKey(${target.label})`);
    const decision = model.decideShow(caller.token, target.id);
    const response = await world.gql<{ apiKey: ApiKeyJson }>(caller.token, SHOW, { id: target.id });
    world.expectOutcome('show', decision, response);
    if (decision.outcome === 'ok' && response.data && decision.target) {
      world.expectKey('apiKey', decision.target, response.data.apiKey);
    }
    await world.afterStep(model, caller, []);
  }

  toString() {
    return `show(${JSON.stringify([this.caller, this.target])})`;
  }
}

export class ListStep extends Step {
  constructor(readonly caller: CallerPick) {
    super();
  }

  async run(model: RulesModel, world: World) {
    const caller = pickCaller(model, this.caller);
    world.trail.push(`${caller.label}: apiKeys`);
    const decision = model.decideList(caller.token);
    const response = await world.gql<{ apiKeys: { edges: Array<{ node: ApiKeyJson }> } }>(caller.token, LIST);
    world.expectOutcome('list', decision, response);
    if (decision.outcome === 'ok' && response.data) {
      const listed = sorted(response.data.apiKeys.edges.map((edge) => edge.node.id));
      const expected = sorted(decision.visibleIds ?? []);
      if (listed.join() !== expected.join()) {
        world.fail('apiKeys lists exactly the visible keys', labelled(model, expected), labelled(model, listed));
      }
    }
    await world.afterStep(model, caller, []);
  }

  toString() {
    return `list(${JSON.stringify(this.caller)})`;
  }
}

export class CurrentStep extends Step {
  constructor(readonly caller: CallerPick) {
    super();
  }

  async run(model: RulesModel, world: World) {
    const caller = pickCaller(model, this.caller);
    world.trail.push(`${caller.label}: currentApiKey`);
    const decision = model.decideCurrent(caller.token);
    const response = await world.gql<{ currentApiKey: ApiKeyJson }>(caller.token, CURRENT);
    world.expectOutcome('currentApiKey', decision, response);
    if (decision.outcome === 'ok' && response.data && decision.target) {
      world.expectKey('currentApiKey', decision.target, response.data.currentApiKey);
    }
    await world.afterStep(model, caller, []);
  }

  toString() {
    return `current(${JSON.stringify(this.caller)})`;
  }
}

export class AdvanceClockStep extends Step {
  constructor(readonly minutes: number) {
    super();
  }

  async run(model: RulesModel, world: World) {
    world.trail.push(`clock +${this.minutes} min`);
    world.t.clock.advance(this.minutes * MINUTE);
    model.advance(this.minutes);
    await world.afterStep(model, null, [...model.keys.values()]);
  }

  toString() {
    return `advance(${this.minutes})`;
  }
}
